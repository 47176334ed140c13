module gorobench

go 1.21
