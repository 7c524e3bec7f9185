"""lesionkit.analysis"""
