"""The themes stage: text preprocessing, the codebook, the guided theme model and free
topics, agreement, sentiment, the REFI-QDA project, figures and the stage itself."""
