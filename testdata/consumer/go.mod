module example.com/consumer

go 1.23

require github.com/agentjail/agentjail-go v0.0.0

replace github.com/agentjail/agentjail-go => ../..
