/* crypto/share.c - placeholder until implemented in this change */
typedef int mcn_share_placeholder;
