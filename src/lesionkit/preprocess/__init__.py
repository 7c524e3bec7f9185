"""lesionkit.preprocess"""
