"""The analysis stage: what a built firmware costs (memory) and where its time goes."""
