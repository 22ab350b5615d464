"""The science of ionflow. Nothing in ``ionflow.core`` imports jobflow."""
