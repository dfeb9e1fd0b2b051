"""银税互动 tax data connector for Nongxin: filed revenue and tax credit grade per firm."""
