"""沂蒙云贷 (Yimeng cloud loan) of Linyi Rural Commercial Bank, as a Nongxin plugin."""
