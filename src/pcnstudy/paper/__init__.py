"""The paper stage and the cohort report: variables and tables for the manuscript,
rendering (Quarto, or pandoc and typst), the Lua filters and templates."""
