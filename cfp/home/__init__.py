"""What a person has to do next, across the stages of the work: the home page's panel."""
