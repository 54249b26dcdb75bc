/* crypto/pack.c - placeholder until implemented in this change */
typedef int mcn_pack_placeholder;
