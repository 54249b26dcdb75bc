typedef int mcn_placeholder_policy;  /* placeholder: being written */
