# An auth script that defines none of the functions Apache's steps call.
value = 1
