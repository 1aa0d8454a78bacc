//! pam_jit: placeholder.
