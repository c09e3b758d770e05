"""重点项目代办: key projects run by a 代办员 for the investor (seed 000 §二 §三, seed 002).

项目化、清单化、节点化: a project (:mod:`.register`) is decomposed into nodes, each
with its responsible unit (责任单位), responsible person (责任人) and time limit;
the 代办员 records every step of every node (督导代办情况记录). A node past its
limit is a 卡点 (seed 000 §二 "卡"点考评), held against its unit and person
(:mod:`.progress`, 倒查). The enterprise's representative rates the 代办员 on
the 满意度测评表 of seed 002 附件3 (:mod:`.survey`), whose rule (a first
非常不满意: 警告; two in a row: 诫勉谈话) is derived from the surveys. The forms
of the workflow are in :mod:`.forms`.

Where the facts live: at the central store, written there directly like the
supervisors' work, never pushed from a window. A 代办员 works for the
investor across departments and is not on duty at a window (seed 002: they
sit in the 发改局重点项目办 / the 代办机构 at the service centre), a project's
nodes are shared by the 一级 and every 二级代办员 of several departments, and
supervisors must see a 卡点 the day it happens, not after some window's next
push. The tables are still fact models of :mod:`hallapp.models`, so the centre
derives their twins and guards like every other fact's; windows simply have
none to push.

Every function takes a connection on the central store and the hall's code;
the caller owns the transaction. Nothing here imports Qt.
"""

from __future__ import annotations


class ProjectError(ValueError):
    """Input the register refuses; the message is for the user, in Chinese."""


class ProjectNotAllowed(ProjectError):
    """The acting person may not do this (wrong role, not their project)."""
