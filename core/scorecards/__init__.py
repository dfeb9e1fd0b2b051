"""Scorecard development and model monitoring (评分卡开发与模型监测): fit a segment scorecard from a
bank's own history, ship it as a plugin, watch its stability, run challengers in shadow."""
