"""The Adapter: a round's plan in, its training data out (the adapt node calls the parts).

- `writing`: candidate items (Eq. 1: seed, synthesize, solve, rewrite) for the plan.
- `filters`: which rewrite strategies an item gets; verified, distinct, no probe leak.
- `fitting`, `renderings`, `score`: the rendering the measured student learns best
  (forward-pass losses, then the pick rule).
- `self_replay`: the student's own verified answers on modules the round does not teach.
- `budget`: the round's share of the teacher-token budget, and what it keeps back.
"""
