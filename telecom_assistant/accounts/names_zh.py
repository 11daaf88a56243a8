"""Chinese names of what the SQL account backend stores in English (places, countries,
ordering channels), as shown to a customer writing Chinese."""

PLACE_NAMES_ZH = {
    "beijing": "北京", "shanghai": "上海", "guangzhou": "广州", "changsha": "长沙",
    "jinan": "济南", "chengdu": "成都",
    "chaoyang": "朝阳区", "haidian": "海淀区", "dongcheng": "东城区", "fangshan": "房山区",
    "miyun": "密云区", "pudong": "浦东新区", "xuhui": "徐汇区", "jingan": "静安区",
    "chongming": "崇明区", "tianhe": "天河区", "yuexiu": "越秀区", "panyu": "番禺区",
    "yuelu": "岳麓区", "furong": "芙蓉区", "wangcheng": "望城区", "lixia": "历下区",
    "licheng": "历城区", "wuhou": "武侯区", "jinjiang": "锦江区", "pidu": "郫都区",
}
ORDERING_CHANNELS_ZH = {
    "mobile app": "手机营业厅App",
    "SMS marketing reply": "回复营销短信",
    "retail store": "营业厅",
    "outbound sales call": "外呼营销电话",
}
COUNTRY_NAMES_ZH = {"Japan": "日本", "Hong Kong": "中国香港"}
