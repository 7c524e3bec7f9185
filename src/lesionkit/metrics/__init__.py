"""lesionkit.metrics"""
