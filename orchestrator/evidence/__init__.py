"""Evidence: the proof a job leaves behind (screenshots, verified control state, confirmations).

Owns the `evidence` table and the files in the evidence store; every file is kept with its
SHA-256, time, URL and the policy version that produced it.
"""
