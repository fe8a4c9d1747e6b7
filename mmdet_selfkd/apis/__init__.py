from .launch import guard_work_dir, load_config, setup_launcher, teardown_launcher

__all__ = ['guard_work_dir', 'load_config', 'setup_launcher', 'teardown_launcher']
