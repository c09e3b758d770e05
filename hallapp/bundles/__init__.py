"""一窗受理 and 并联审批: bundles of items of several departments (一件事 / 联合审批).

A bundle is catalog data (:mod:`hallapp.bundles.catalog`): member items, each
of its own department, one lead department, one guide, one form and one
merged materials list in which a material several members need is asked for
once (seed 000 §七 "七个一": 一个牵头部门、一张表单、一个指南、一套材料、一次申报、
一套机制、一个窗口一个时限). It is imported with the catalog and travels to the
windows in the pull like the catalog.
"""
