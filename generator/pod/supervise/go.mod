module datomspod.local/supervise

go 1.22
