# CMake generated Testfile for 
# Source directory: /tmp/w11
# Build directory: /tmp/w11/b
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
subdirs("crypto")
subdirs("proto")
subdirs("protocols")
subdirs("node")
subdirs("tests")
subdirs("bench")
