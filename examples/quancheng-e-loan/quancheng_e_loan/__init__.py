"""泉城e贷 (Quancheng e-loan) of Jinan Rural Commercial Bank, as a Nongxin plugin."""
