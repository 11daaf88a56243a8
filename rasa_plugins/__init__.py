"""What Rasa loads of this project: input channels (credentials.yml), tracker and lock stores
(endpoints*.yml), NLU components (nlu/, config.yml), and the action server that runs
actions/. Each program of Rasa's side imports only what it names: the action server never
imports Rasa itself."""
