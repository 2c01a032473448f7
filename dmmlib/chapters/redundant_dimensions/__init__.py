"""The chapter redundant_dimensions ("Is it just redundant dimensions?"): profiles, embeddings, experiment, claims and plots."""
