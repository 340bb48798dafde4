"""Name and number material for the demo portfolio: common names, and phone ranges by region."""

from __future__ import annotations

CN_SURNAMES = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高",
    "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "潘",
)
CN_GIVEN = (
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀兰", "霞", "平", "刚", "桂英", "建华", "海燕", "文", "晨", "欣怡", "子轩", "浩然", "雨桐", "俊杰", "佳怡",
    "志强", "婷婷", "宇航", "梓涵", "建国", "丽华", "春梅", "晓东", "红霞", "国庆", "玉兰", "思远", "嘉欣",
)
# Mobile prefixes of the three Chinese carriers.
CN_MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156", "157",
    "158", "159", "166", "176", "177", "180", "181", "182", "185", "186", "187", "188", "189", "198", "199",
)

EN_FIRST = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Christopher", "Karen",
    "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra", "Steven", "Ashley", "Andrew",
    "Emily", "Joshua", "Michelle", "Kevin", "Amanda", "Brian", "Melissa", "Maria", "Carlos", "Aisha", "Kenji",
    "Priya", "Olivia", "Noah", "Grace", "Ethan", "Chloe", "Mei", "Diego",
)
EN_LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
    "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Nguyen", "Hill", "Flores", "Green", "Adams", "Baker", "Nelson", "Carter", "O'Brien", "Patel",
    "Kowalski", "Murphy", "Okafor", "Sullivan", "Chen", "Kim", "Rivera", "Campbell",
)
UK_FIRST = ("Oliver", "Amelia", "Harry", "Isla", "George", "Ava", "Jack", "Sophie", "Alfie", "Poppy", "Callum",
            "Eilidh", "Rhys", "Niamh", "Imran", "Zara")
UK_LAST = ("Jones", "Evans", "Hughes", "Wright", "Walsh", "Thomson", "Roberts", "Khan", "Hall", "Wood", "Cooper",
           "Fletcher", "Morgan", "Begum", "Price", "Bennett")

# US zones with the area codes of a city in each. Numbers use the 555-01XX block, which is set aside for
# fiction and never assigned, so a demo text can never reach a real person in the United States.
US_ZONES = (
    ("America/New_York", ("212", "646", "718", "917"), 22),
    ("America/Chicago", ("312", "773"), 18),
    ("America/Denver", ("303", "720"), 8),
    ("America/Los_Angeles", ("213", "310", "323", "415"), 18),
    ("America/Phoenix", ("602", "480"), 6),
    ("America/Anchorage", ("907",), 3),
    ("Pacific/Honolulu", ("808",), 3),
)
BOSTON_AREA_CODES = ("617", "857")
UK_MOBILE_PREFIXES = ("7400", "7700", "7824", "7911", "7976")
