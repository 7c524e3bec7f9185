"""lesionkit.synth"""
