"""A static dashboard of results over commits: plain HTML, CSS and JavaScript, every asset local."""
