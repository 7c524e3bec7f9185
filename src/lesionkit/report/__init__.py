"""lesionkit.report"""
