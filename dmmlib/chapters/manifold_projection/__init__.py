"""The chapter manifold_projection ("Does projecting onto the manifold defend?"): profiles, defence, attacks, experiment, detection, summary, claims and plots."""
