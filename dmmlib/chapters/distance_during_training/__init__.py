"""The chapter distance_during_training (DMM section 6, figure 6): profiles, experiment,
changepoint, claims and plots."""
