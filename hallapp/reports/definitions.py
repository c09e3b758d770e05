"""The definitions of the figures, from the config, in words for every table.

There is no single national formula for 满意率 and the other rates, so they
are configuration (``[reports]``) and every table and report prints the
definitions it was computed with (:meth:`Definitions.notes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hallapp.evaluation import LEVEL_LABELS

if TYPE_CHECKING:
    from hallapp.config import Config

BAD_LEVELS: tuple[int, ...] = (1, 2)  # 差评 = 不满意 + 非常不满意; 基本满意 is not one
LEVELS: tuple[int, ...] = (5, 4, 3, 2, 1)


@dataclass(frozen=True)
class Definitions:
    satisfied_levels: tuple[int, ...] = (5, 4, 3)
    #: Points per level for the optional score; empty: no score.
    points: dict[int, float] = field(default_factory=dict)
    accountability_threshold_percent: float = 1.0
    ranking_min_evaluations: int = 20
    ranking_count: int = 3
    ranking_by: str = "satisfaction_rate"
    rectify_days: int = 5
    call_back_days: int = 1

    @classmethod
    def from_config(cls, config: Config) -> Definitions:
        points = {int(k): float(v) for k, v in dict(config.get("reports.points")).items()}
        return cls(
            satisfied_levels=tuple(int(v) for v in config.get("reports.satisfied_levels")),
            points=points,
            accountability_threshold_percent=float(
                config.get("reports.accountability_threshold_percent")
            ),
            ranking_min_evaluations=int(config.get("reports.ranking_min_evaluations")),
            ranking_count=int(config.get("reports.ranking_count")),
            ranking_by=str(config.get("reports.ranking_by")),
            rectify_days=int(config.get("follow_up.rectify_days")),
            call_back_days=int(config.get("follow_up.call_back_days")),
        )

    @property
    def scored(self) -> bool:
        return bool(self.points)

    def _levels(self, levels: tuple[int, ...]) -> str:
        return "＋".join(LEVEL_LABELS[v] for v in sorted(levels, reverse=True))

    def satisfaction_formula(self) -> str:
        return f"满意率 =（{self._levels(self.satisfied_levels)}）÷ 有效评价数 × 100%"

    def notes(self) -> list[str]:
        """The definitions printed under every table and report."""
        lines = [
            "有效评价数：统计期内群众在评价器上作出的评价（一次一评，按服务次数计），"
            "不含申诉成立（误评、恶意差评）经审核剔除的评价",
            self.satisfaction_formula(),
            f"差评率 =（{self._levels(BAD_LEVELS)}）÷ 有效评价数 × 100%；基本满意不属于差评；"
            "差评率、不满意率保留两位小数，其后舍去不进位（如 0.995% 记为 0.99%），"
            "与问责线的比较一致；其他百分比四舍五入",
            "评价率 = 统计期内办结的办件中有有效评价的件数 ÷ 统计期内办结的办件数 × 100%",
            "未评价：统计期内办结但没有评价的办件数。未评价就是未评价，"
            "本系统从不把未评价计为满意或非常满意（部分地区的默认好评做法本系统不采用）",
        ]
        if self.scored:
            pts = "、".join(
                f"{LEVEL_LABELS[v]} {self.points[v]:g} 分" for v in LEVELS if v in self.points
            )
            lines.append(f"评分 = 各有效评价分值的平均数（{pts}）")
        lines += [
            f"季度问责：季度内不满意率（差评数 ÷ 有效评价数）达到 "
            f"{self.accountability_threshold_percent:g}% 的工作人员",
            f"月度排名：按{'评分' if self.ranking_by == 'score' else '满意率'}由高到低，"
            f"有效评价不少于 {self.ranking_min_evaluations} 次的窗口参加排名；"
            "数值相同者并列同一名次（其后名次顺延），并列时按有效评价数多者在前列示；"
            f"公布前 {self.ranking_count} 名和后 "
            f"{self.ranking_count} 名"
            f"（参加排名的窗口不足 {2 * self.ranking_count} 个时各公布其半数）",
            "按期办结率 = 统计期内按期办结（办结日不晚于承诺日期，含批准延期）的件数"
            " ÷ 统计期内办结件数",
            f"差评整改率 = 已整改或已办结的差评 ÷ 差评数；回访率 = 已回访的差评 ÷ 差评数；"
            f"整改期限 {self.rectify_days} 个工作日，首次回访期限 {self.call_back_days} 个工作日",
            # A breach stays one: a late call-back made after the month was
            # published must not wipe its 回访超期 (FollowUpState).
            "整改超期、回访超期：统计期内的差评中，超过期限才整改（或办结）、才回访的件数，"
            "加上到数据截至时已过期限仍未整改、仍未回访的件数；超期一经发生即计入，之后补做不消除",
        ]
        return lines
