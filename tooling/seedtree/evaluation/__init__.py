"""Did it learn, did it keep: a release's evaluation. Held-out and seed losses, multiple-choice
items, judged answers and general benchmarks, each for the previous and the new model, paired per
item with bootstrap intervals."""
