"""The chapter clinging_dimpling: profiles, experiment, claims and plots."""
