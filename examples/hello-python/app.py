import os
import platform

print(f"{os.environ.get('GREETING', 'Hi')} from {platform.python_version()} in {os.getcwd()}")
