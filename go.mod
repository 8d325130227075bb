module github.com/agentjail/agentjail-go

go 1.23
