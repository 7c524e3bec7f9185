"""lesionkit.model"""
