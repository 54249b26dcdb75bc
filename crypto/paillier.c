/* crypto/paillier.c - placeholder until implemented in this change */
typedef int mcn_paillier_placeholder;
