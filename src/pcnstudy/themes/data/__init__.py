"""Word lists shipped with pcnstudy (stop words for the thematic analysis)."""
