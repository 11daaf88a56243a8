"""Custom Rasa NLU components of this project (named in config.yml)."""

from rasa_plugins.nlu.spacy_pipeline import load_user_dictionary

# jieba's dictionary lives in the process, not in the saved spaCy pipeline: load it before
# Rasa's SpacyNLP segments anything (Rasa imports this package when it reads config.yml).
load_user_dictionary()
