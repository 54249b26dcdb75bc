typedef int mcn_placeholder_audit;  /* placeholder: being written */
