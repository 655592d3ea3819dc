"""The seller dashboard: a seller's staff working on their claims (queue, claim page, actions), their performance,
balance and monthly statements. Claims' pages for sellers; the sellers app below holds who the sellers are."""
