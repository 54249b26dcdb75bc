/* crypto/mask.c - placeholder until implemented in this change */
typedef int mcn_mask_placeholder;
