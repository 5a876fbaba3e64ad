//! Powens webhooks: verification, trimming and translation into Connectivity responses.
