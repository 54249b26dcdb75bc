typedef int mcn_placeholder_state;  /* placeholder: being written */
