/* crypto/threshold.c - placeholder until implemented in this change */
typedef int mcn_threshold_placeholder;
