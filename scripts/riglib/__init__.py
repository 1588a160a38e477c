"""The two-pass notifier rig: tree setup, kunit.py runs and the splat gate."""
