"""Recording logic for SIP media application handlers."""
