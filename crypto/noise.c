typedef int mcn_placeholder_noise;  /* placeholder: being written */
