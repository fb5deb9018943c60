"""A third, independently written set of templates for the reflex intent grammar.

Same mini-language as :mod:`intent_grammar` (``{slot}``, ``(a|b|c)``, ``(a|)``, nesting).
Templates may use the first author's slots, the second author's ``x_`` slots, and the new
fillers in ``THIRD_SLOTS[lang]`` (all new slot names start with ``y_`` so they never clash).

The angle here is the users and situations the first two grammars left out: elderly users
(very polite, long-winded, unsure of the technology), children, non-native speakers (simplified
grammar, odd prepositions, missing articles, calques), speech-recognition transcripts (run-on
sentences, no punctuation, "okay", a misheard wake word), one-to-three-word requests, requests
buried in a longer sentence or phrased as statements ("I need to know the time"), double
requests with one clear intent, chat style ("thx", "pls", "u", "спс", "плз", "щас"), Russian
with English tech words and transliteration ("чекни", "юзаешь", "вайфай"), and different
politeness levels and moods.  ``complex`` gets new hard negatives that look like the reflex
intents on the surface (time, greetings, system status, timers, lights, music, shopping) but
ask for knowledge, advice or writing.
"""
from __future__ import annotations

THIRD_SLOTS: dict[str, dict[str, list[str]]] = {
    "en": {
        # a wake word as speech recognition writes it down, sometimes misheard
        "y_hey": ["hey TARS", "hey tars", "okay TARS", "ok tars", "hey stars", "hey tarz",
                  "okay stars", "hey tar", "OK Tars", "hey cars", "okay tarz"],
        # how an elderly user addresses the assistant
        "y_dear": ["dear", "dearie", "love", "sweetheart", "young man", "my dear", "pet"],
        "y_kid_name": ["Lily", "Max", "Sophie", "Ben", "Mia", "Leo", "Charlie", "Ava"],
        "y_kid_age": ["five", "six", "seven", "8", "four and a half", "nearly seven"],
        "y_kid_minutes": ["ten", "five", "fifteen", "twenty", "10", "5"],
        # one-word system metrics as typed or said in a hurry
        "y_short_metric": ["cpu", "CPU", "temp", "ram", "RAM", "mem", "battery", "batt", "disk",
                           "uptime", "load", "storage", "cpu temp", "free ram", "disk space",
                           "cpu load", "swap", "temps", "sys stats", "cpu usage"],
        # clipped durations as typed in chat
        "y_short_dur": ["5 min", "10 mins", "20 min", "1 hr", "30 sec", "15 minutes", "3 mins",
                        "2 min", "45 mins", "1 min", "25 min", "90 sec", "an hour", "8 min"],
        "y_shop_qty": ["a loaf of bread", "a pint of milk", "some tea bags", "a packet of biscuits",
                       "a dozen eggs", "a jar of marmalade", "some butter", "a bag of sugar",
                       "a tin of soup", "some prunes"],
        "y_oldies": ["Frank Sinatra", "Elvis", "old music", "music from the fifties",
                     "Glenn Miller", "Vera Lynn", "big band music", "the old songs",
                     "Dean Martin", "Nat King Cole"],
        "y_temp_deg": ["20 degrees", "21", "68 degrees", "22 degrees", "19 degrees", "seventy"],
        "y_trip": ["Spain", "my sister's", "the cottage", "the seaside", "the mountains",
                   "Grandma's", "Florida", "the lake house"],
        "y_cook": ["boil eggs for a salad", "cook spaghetti", "bake salmon at 200 degrees",
                   "roast a whole chicken", "steam broccoli", "microwave a potato",
                   "fry a steak medium rare", "soft boil an egg", "cook frozen dumplings"],
        "y_song": ["Bohemian Rhapsody", "Hotel California", "Yesterday", "Imagine", "Billie Jean",
                   "Wonderwall", "Hallelujah", "Take On Me"],
        "y_kid_q": ["where do babies come from", "how do fish breathe underwater",
                    "why do cats have whiskers", "how big is the sun", "are dragons real",
                    "how far away is the moon", "what did dinosaurs eat",
                    "where do rainbows come from", "why is snow white",
                    "who is stronger, a whale or an elephant"],
    },
    "ru": {
        "y_ru_hey": ["окей тарс", "окей, ТАРС", "эй тарс", "ок тарс", "тарс", "тарз", "окей тарз",
                     "слушай тарс", "алло тарс", "эй старс"],
        # masculine forms only: the verbs that follow agree with a masculine address
        "y_ru_dear": ["милок", "голубчик", "сынок", "касатик", "родной", "милый", "дружок"],
        "y_ru_kid_name": ["Маша", "Ваня", "Соня", "Миша", "Алиса", "Тёма", "Даша"],
        "y_ru_kid_age": ["пять лет", "шесть лет", "семь лет", "четыре года", "восемь лет",
                         "почти шесть"],
        "y_ru_metric_short": ["проц", "процессор", "температура", "темпа", "оперативка", "память",
                              "диск", "батарея", "заряд", "аптайм", "нагрузка", "загрузка проца",
                              "оператива", "свободная память", "температура проца"],
        "y_ru_short_dur": ["5 минут", "десять минут", "5 мин", "10 мин", "на 15", "на 20 минут",
                           "полчаса", "на час", "минуту", "3 минуты", "на пять минут", "45 минут",
                           "7 мин"],
        "y_ru_clock": ["7", "семь", "7:30", "шесть утра", "восемь", "6:45", "полседьмого"],
        "y_ru_hour": ["восемь", "семь вечера", "девять утра", "полдесятого", "шесть", "десять",
                      "пять", "половине восьмого"],
        "y_ru_shop": ["батон", "пакет кефира", "десяток яиц", "пачку масла", "буханку чёрного",
                      "сметану", "пачку чая", "кило картошки", "банку горошка"],
        "y_ru_deg": ["двадцать два градуса", "21 градус", "23 градуса", "восемнадцать градусов",
                     "двадцать градусов", "24 градуса"],
        "y_ru_cook": ["варить пельмени", "варить креветки", "жарить сырники",
                      "запекать куриные бёдра", "варить свёклу", "варить кальмаров",
                      "тушить капусту", "варить кукурузу", "запекать картошку в духовке",
                      "жарить стейк средней прожарки"],
        "y_ru_song": ["«Группу крови»", "«Звезду по имени Солнце»", "«Yesterday»",
                      "«Bohemian Rhapsody»", "«Кукушку»", "«Выхода нет»", "«Миллион алых роз»",
                      "«Hotel California»"],
        "y_ru_kid_q": ["а откуда берутся дети", "почему у жирафа длинная шея",
                       "как рыбы дышат под водой", "а драконы бывают на самом деле",
                       "почему луна не падает", "сколько звёзд на небе",
                       "кто сильнее, кит или слон", "откуда берётся радуга", "почему снег белый",
                       "зачем кошке усы"],
        "y_ru_topic_acc": ["чёрные дыры", "Петра Первого", "фотосинтез", "инфляцию",
                           "Древний Египет", "блокчейн", "вулканы", "Гагарина"],
        "y_ru_en_phrase": ["nice to meet you", "how are you", "see you later", "I'm sorry",
                           "good luck", "what time is it", "take care", "you're welcome"],
    },
}

THIRD_TEMPLATES: dict[str, dict[str, list[str]]] = {
    "en": {
        "greeting": [
            # elderly
            "(oh|well|) (hello|good morning|good afternoon) {y_dear}, (how are you today|how are you keeping|how are you getting on)?",
            "(hello|good morning|good afternoon) {y_dear}, I (do|) hope you're keeping well",
            "(hello|hello there) (TARS|), (can you hear me|are you listening)? it's (Grandma|Grandpa|Nana|Mrs. {surname}|old Mr. {surname}) (here|speaking|)",
            "(thank you|thanks) (ever so much|so very much|kindly|very much indeed), {y_dear}, (you're very kind|that's very kind of you|you've been ever so patient with me|what would I do without you)",
            "I (just|) wanted to (say|tell you) (thank you|thanks) for (being so patient with me|your patience|helping an old (lady|man) like me|putting up with my silly questions)",
            "(I must say|I have to say|let me tell you), you('re| are) (a wonderful|a very clever|a marvellous|a very useful|a lovely) little (machine|helper|gadget)",
            # children
            "(hi|hello|hiii|hewwo) (robot|TARS|Mr. Robot|mister robot), my name is {y_kid_name}( and I'm {y_kid_age}| and I'm {y_kid_age} years old|)",
            "(good morning|hi|hello) (robot|TARS|mister robot), (are you awake|did you sleep well|did you have nice dreams|do you want to be my friend)?",
            "(well done|bravo|good boy|clever boy|smart cookie|attaboy|nice one), (TARS|robot|little robot)",
            # non-native speakers
            "(hello|hi) (TARS|my friend|), how you are (today|)?",
            "(good morning|hello|hi), how is (going|it going|your day) (today|my friend|)?",
            "(hello|hi), (everything is|is everything|all is) (good|fine|okay) (by you|with you)?",
            "(thank you|thanks) (too much|very much|so much) for (help|the help|your help), you (are|is) very (helpful|kind|good helper)",
            "(hello|hi) (TARS|), I am (happy|glad|very glad) (to see you|to hear you|to speak with you) (again|)",
            # chat style
            "(thx|ty|tysm|thnx|thanx|tnx|thank u) (u r|ur|you're|youre) the (best|GOAT|bomb|man)",
            "(thx|ty|thnx|thank u|tyvm|thx a lot) (m8|bro|dude|man|fam|TARS)",
            "(heyy|heyyy|hii|hiii|helo|hallo|ello) (u|you) (ok|good|gud|alright)?",
            "(wazzup|whaddup|wsg|wyd|hru|how r u|how ru) (tars|bro|dude|)",
            # speech recognition, no punctuation
            "{y_hey} (good morning|hello|hi there|how are you doing today|how's it going)",
            # very short
            "(hullo|allo|hallo|heya TARS|morning all|hey you|hi hi|hello you|mornin TARS)",
            # statements, moods, double requests
            "(I've come|I have come|I just came|I came) (in|over|) to say (hello|hi|good morning|good evening)",
            "(hi|hello|hey) (TARS|), (I'm in such a good mood today|what a beautiful morning|isn't it a lovely day|it's a gorgeous day)",
            "(ugh|meh|mm|yeah yeah), (morning|hi|hello)(, I guess|, whatever|, I'm not a morning person|, don't talk to me yet|)",
            "(hi|hello|hey) (TARS|), (how are you|how's it going|how are things)? I'm (fine|good|great|doing well|not bad) (thanks|thank you|)(, and you|, how about you|)",
            "(hello|hi) (there|TARS), (nice|pleased|good) to meet you, I'm your new (owner|user|housemate)",
            "(that|this) (worked|did the trick|was spot on|was exactly right|is perfect), (thank you|thanks|ty|thx) (so much|a lot|)",
            "(happy birthday|merry Christmas|happy Halloween|happy Thanksgiving|happy Diwali|happy Hanukkah) (TARS|to you|robot|buddy|my friend)",
            "(hey|hi|hello|well hello) (stranger|old friend|sleepyhead)",
            "(hey|hi|good morning|morning) (TARS|), I'm (up|awake|out of bed|finally up)",
            "(hello|hi|hey|good morning) from (me and the kids|the whole family|all of us|the kids and me)",
            "you're (so|really|super|) (clever|smart|fast|helpful), (thank u|thx|ty|thanks|cheers)",
            "(you're|you are) (the|my) (best|favourite|favorite) (robot|gadget|assistant) (ever|in the world|)",
        ],
        "farewell": [
            # elderly
            "(well|alright then|right then|okay then), I('ll| will) (let you go|leave you be|not keep you any longer) (now|), (goodbye|bye bye|ta-ta|cheerio) ({y_dear}|)",
            "I'm (going to have|off for|going for) (a little lie-down|my afternoon nap|a little rest), (goodbye|bye bye|see you later) (dear|for now|)",
            "(thank you|thanks) {y_dear}, that's (all|everything|all I needed) for (today|now|tonight), (goodbye|bye bye|good night)",
            "(goodbye|bye) (for now|for today), (and|) (thank you|thanks) for (everything|your help|today), {y_dear}",
            # children
            "(bye bye|byeee|bye) (robot|TARS|mister robot), (I have to|I gotta|mommy says I have to|daddy says I have to|I need to) (go to bed|go to school|go to sleep|go brush my teeth|have my bath)",
            "(night night|nighty night|goodnight|nite nite) (robot|TARS|mister robot), (see you in the morning|I love you|sleep tight)",
            # non-native speakers
            "(ok|okay|so), I (go|am going|going) (sleep|to sleep|to bed|home) now, (bye|goodbye|good night)",
            "I go (to work|to shop|to the shop|to school|outside) now, see you (after|later|in evening|in the evening|tomorrow)",
            "(thank you|thanks) for (all|everything|all your help), (have a nice day|good bye|see you tomorrow|have nice evening)",
            "(good night|goodnight), (good dreams|nice dreams|sweet dream|beautiful dreams) (to you|for you|)",
            # chat style
            "(gtg|g2g|got2go|gotta go|brb|ttyl|ttyl8r|cya l8r|l8r|gn|gnight|nite nite|night all)( tars| m8| bro| all|)",
            "(ok|k|kk|okey|oki) (thx|ty|thnx|thanks) (bye|bb|cya|ttyl|gn)",
            "(byeee|bye bye|bbye|bai|baii) (tars|TARS|robot|) (xx|xoxo|)",
            # speech recognition, run-on
            "{y_hey} (that's it|that's all|that'll be all) (for now|for tonight|for today) (goodnight|bye|see you tomorrow|thanks bye)",
            "(alright|okay|ok) I'm heading out now see you (when I get back|tonight|later|after work) (TARS|)",
            # very short
            "(bye now|bye bye now|ok bye|okay bye|right bye|cheers bye|bye then|later then|night then|ta ta|buh bye)",
            # statements, moods, situations
            "I'm (going out|off now|leaving now|heading out), (just|) (letting you know|so you know|FYI)",
            "(ugh|sigh|man|phew), (long day|what a day|I'm beat|I'm done), (goodnight|going to bed|calling it a night|I'm off to bed)",
            "(I'm|we're) (off|leaving|flying out) to {y_trip} (now|tomorrow|tonight), (see you (in a week|next week|when (I'm|we're) back|in two weeks)|bye for now|goodbye)",
            "(sleep well|sleep tight|rest well) (TARS|robot|buddy|), (I'm|we're) (going|off) to bed (too|now|)",
            "(okay|ok|well), (that's|that is) (enough|all) (for me|from me|for today), (thank you|thanks), (goodbye|bye|good night)",
            "(enough|that's enough) (chatting|talking|chit-chat) for (today|tonight|now), (bye|good night|see you tomorrow)",
            "(must|gotta|have to|need to) (go|run|dash), (my|the) (taxi|bus|ride|Uber|cab) is (here|waiting|outside), (bye|see you|later)",
            "(it was|it's been|it has been) a pleasure (as always|talking to you|), (goodbye|good day|farewell) (to you|)",
            "(I'll|I will) (talk|speak|chat) (with|to) you (again|) (tomorrow|later|another time|next time), (goodbye|bye|good night)",
            "(see you|bye|goodbye), (be good|stay out of trouble|keep the house safe|mind the house) while I'm (out|gone|away)",
            "(leaving|off|heading out|popping out) (now|), (I'll be back|back) in (an hour|a couple of hours|a bit|twenty minutes)",
            "(going|off) to (bed|sleep), (I'm|) (so tired|exhausted|sleepy|falling asleep), (nite|night|goodnight) (TARS|)",
            "(right|ok|okay), (I'm off|I'm going) to (work|school|the gym|the shops) now, (see you (this evening|tonight|later)|bye|later)",
        ],
        "status": [
            # very short
            "{y_short_metric}(?| status| check| pls| plz| now| rn|??)",
            "(quick|fast) (system|health|hardware) check (pls|plz|please|)",
            "(temperature|temp|CPU temp) (of you|inside you|of your chip) (please|pls|now)",
            # elderly
            "(I'm not very good with computers|I don't know much about these things|forgive me, I'm not very technical), but is your (battery|memory|fan|little computer|processor) (alright|all right|working properly|getting too hot)?",
            "(my grandson|my granddaughter|my son|my daughter) (told me to|said I should|wants me to) (ask about|check) your (temperature|memory|battery|disk space|CPU load), (what is it|how is it|is it alright)?",
            "is your (little|) (fan|cooling fan) (working alright|all right|supposed to be that loud), {y_dear}?",
            # children
            "(robot|TARS), (how hot is your brain|is your brain getting hot|how full is your brain|how much battery do you have left|is your tummy hot)?",
            # non-native speakers
            "(please|) (tell|say) me (how much is|what is) your (CPU load|memory use|temperature|battery) (now|)",
            "(which|what) (is|) (temperature of processor|load of processor|free memory|level of battery) (you have|in you|on you) (now|)?",
            "you have (enough|much) (memory|free space|place on disk|battery) (still|yet|)?",
            "how much (RAM|memory|disk) (is occupied|is busy|is taken) (now|at you|by you)?",
            # chat style
            "(u|r u|ru|are u) (overheating|runnin hot|low on ram|low on mem|low on battery|low on space|throttling) (rn|atm|)?",
            "(whats|wats|what's) (ur|yr|your) (cpu|ram|temp|uptime|battery|disk|load) (at|lvl|like|usage|) (rn|atm|now|)?",
            # speech recognition
            "{y_hey} (check|tell me|read out) your (cpu temperature|memory usage|disk space|uptime|battery level|cpu load) (please|)",
            # statements, buried, double, moods
            "I('d like| need| want| would like) to (know|see|check) your (current|) {metric}",
            "before I (start|run) (the backup|a big download|the update|this video call), (how much free space do you have|how much memory is free|what's your CPU load|are you running hot)?",
            "(you seem|you're|you are) (slow|laggy|sluggish|really slow) (today|this morning|), (check|show me|what's) your (CPU|memory|RAM) (usage|load)",
            "(what's|tell me) your (CPU load|CPU temperature|uptime) and (free memory|free disk space|battery level)",
            # network, processes, logs, power
            "(are you|you) (still|) connected to (the wifi|the internet|the network|the router|wi-fi)?",
            "(do you have|have you got|you got) (internet|a connection|wifi|network) (right now|at the moment|on your end)?",
            "(how many|which) (processes|apps|programs|services) (are running|are active|are open) (on you|in your system|right now)?",
            "(show|give) me (top|htop|the process list|your process list|a list of running processes)",
            "(how long|since when) have you been (awake|on|up|running) (without a break|without a restart|nonstop|straight)?",
            "are you running (ok|okay|fine|properly|smoothly) (system-wise|under the hood|hardware-wise|on the inside)?",
            "(any|got any) (errors|crashes|warnings|problems) (in your logs|in the system log|since boot|since the last reboot)?",
            "is your (SD card|memory card|storage|flash storage) (healthy|ok|okay|dying|wearing out)?",
            "(how's|how is) your (power supply|voltage|power input) (looking|doing)?",
            "(are you|you) (still|) (plugged in|on the charger|on battery|on mains power) (or not|right now|)?",
        ],
        "time": [
            # very short
            "(time|date|day|today's date|the date|what day|what time) (pls|plz|rn|now|)?",
            "(time|date|day) (check|chk) (pls|plz|please|)",
            # elderly
            "(excuse me|sorry to bother you)(, dear|, young man|), (could you|would you) (be so kind as to|kindly|possibly) tell me (what time it is|the time|what day it is|today's date)?",
            "I('ve| have) (lost track of the days|quite lost track of the days|forgotten what day it is)(, dear|), (is it|is today) {weekday}?",
            "I (can't|cannot) (read|see) the clock (without my glasses|from here|very well), (what time is it|is it {hour_simple} yet|what's the time)?",
            "(I'm sorry|sorry), I (keep forgetting|always forget|forgot again), (what's the date|what day is it|what day of the week is it) today?",
            # children
            "(robot|TARS), is (today a school day|it the weekend yet|it Saturday today|it a school day today)?",
            "(robot|TARS), what (time|day) is it? (my mommy|mommy|daddy|my dad|my mum) (wants to know|asked me to ask)",
            # non-native speakers
            "(which|what) hour (is|is it|it is) (now|right now)?",
            "(please|) (say|tell) me the (time|hour|date) (now|of today|for today)",
            "(today is (which|what) (day|date)|(which|what) (date|day) it is today)?",
            "how much (is the time|time is it|o'clock is it) (now|)?",
            "(what's|what is) the (time|date) (by you|at you|on your clock)?",
            "(what|which) year (do we have|we have|is now)?",
            "(what day|which day) (of the week|) (we have|do we have) today?",
            # chat style
            "(wats|whats|wat's|wut) (the|da|) time (rn|now|atm|)(?| pls| plz)",
            "(wat|what|wut) (day|date) (is it|r we on|is 2day|is it 2day) (rn|)?",
            # speech recognition
            "{y_hey} what (time is it|day is it today|is today's date|time is it right now)",
            # statements, buried, double, moods
            "I('d like| need| want| would like) to know (the time|what time it is|what day it is|today's date|the date)",
            "(I'm not sure|I don't know|no idea|not sure) what (time it is (now|right now|)|day it is (today|))",
            "(I have a meeting|my bus comes|my show starts|my train leaves|the kids finish school) (at|around) {hour_simple}, what time is it (now|right now|)?",
            "what time is it and (what's the date|what day is it) (today|)?",
            "(oh no|oh my god|omg|crap|oh dear), is it (already|) {hour_simple}? what time is it (exactly|now|)?",
            "(do you know|you know|you happen to know) (if|whether) (it's|today is) {weekday} (today|)?",
            "what (date|day) (is it|is today) (exactly|precisely)?",
            "(and|so) tomorrow is (what|which) (day|date)?",
            "(is it|it's) (still|already) (morning|night|evening|the afternoon) (or what|right|)?",
        ],
        "quick_action": [
            # very short
            "(timer {y_short_dur}|timer for {y_short_dur}|alarm {hour_simple}|alarm for {hour_simple})",
            "(lights|light|lamp|tv|telly|music|fan|heater|radio) (off|on) (pls|plz|please|now|thx)",
            "(off|on) (the|) (lights|light|tv|fan)",
            "(louder|quieter|softer|mute|next|skip|pause|stop the music|play music) (pls|plz|thx)",
            # elderly
            "(could you|would you) (please|) (be a dear and|be so kind as to) (turn off|switch off|turn on|switch on) the (light|lights|lamp|telly|television|radio) (in the {room}|for me|)(, dear|, love|)",
            "I (need to|have to|must) take my (pills|tablets|heart pills|blood pressure medicine) at {time}, (could you|would you|can you) (please|) remind me?",
            "I (can't|cannot) hear the (television|radio|telly) (very well|properly|at all), (could you|can you|would you) (make it|turn it) (up|louder) (please|dear|)?",
            "(could you|would you|can you) (please|) put {y_shop_qty} on my (shopping list|list for the shops|list)(, dear|, love|)?",
            "(could you|would you) (please|kindly) play (some|a bit of) {y_oldies}(, dear|, love|)?",
            # children
            "(robot|TARS|mister robot), (play|put on) (the dinosaur song|baby shark|my favourite song|a song about dinosaurs|the song from Frozen|the Paw Patrol song)",
            "(mommy|mummy|daddy|dad|mom) (says|said) I can have {y_kid_minutes} more minutes (of TV|on the tablet|of games|), (set a timer|can you set a timer|start a timer)",
            # non-native speakers
            "(please|) (make|put|do) (a|the|) timer (on|for|to) {dur}",
            "(please|) (make|put) (an|the|) alarm (on|to) {time}",
            "(open|close) the (light|lights|lamp) in (the|) {room}",
            "(please|) remember (me|to me) to {task} {when}",
            "(make|do) the (music|sound|volume) (more loud|more quiet|more silent|more strong|less loud)",
            # chat style
            "(set|start) (a|) timer (for|) {y_short_dur} (pls|plz|thx|ty)",
            "(add|put|pls add|plz add) {shop_item} to (list|shopping list|the list|my list) (pls|plz|thx|ty|)",
            # speech recognition, run-on double commands
            "{y_hey} set an alarm for {time} (tomorrow|) and (turn off|switch off) the (lights|light)",
            "{y_hey} (turn|switch) (off|on) the (lights|light) in the {room} (please|thanks|)",
            # statements, buried, double, moods
            "I('d like| need| want| would like) (a timer for {dur}|an alarm at {time}|a reminder to {task} {when}|the lights (off|on|dimmed) in the {room})",
            "the (lights (could be|should be) (a bit|a little|) (dimmer|brighter)|music (could be|should be|needs to be) (a bit|a little|) (quieter|louder)|TV is (a bit|way|) too loud, turn it down)",
            "(I'm going to|gonna|I'll) (have a shower|take a bath|go for a run|have a quick nap|do some yoga), (wake me up|give me a shout|ping me|let me know) in {dur}",
            "(turn off|switch off) the (TV|telly|radio|{device}) and (the lights|the lights in the {room}|all the lights)",
            "(pause the music|turn the music down|mute the TV) and (set|start) a timer for {dur}",
            "(omg|oh no|crap|shoot|quick), the (pasta|rice|oven|cake|eggs|potatoes)(!|,) (timer|set a timer|start a timer) (for|) {dur} (quick|now|asap|)",
            "(stop|stop it|enough already|shut it off|turn that off), (the alarm|that alarm|that noise|this alarm) is (driving me crazy|so annoying|way too loud)",
            "(don't let me forget|make sure I remember|remind me) about (my|the) (dentist appointment|doctor's appointment|parcel|meeting|call with {person}) {when}",
            "(jot down|write down|note down) (for me|somewhere|) that {fact}",
            "(turn the (heating|heat|thermostat) (up|down)|(set|put) the (heating|thermostat) to {y_temp_deg})",
            "(open|close|draw) the (curtains|blinds|shades) (in the {room}|please|)",
            "(don't|do not) wake me (up|) tomorrow, (turn off|cancel|switch off) (the|my) alarm",
        ],
        "complex": [
            # look like time
            "(what's|what is|tell me) the (history|origin|story) of (the clock|the calendar|the seven-day week|time zones|the 24-hour day|the alarm clock|the light bulb)",
            "(what time|when) should (a|my) (five-year-old|teenager|toddler|kid|baby) go to bed?",
            "is it (better|healthier) to (wake up|get up|work out|eat dinner|study) (early|late|in the morning or at night|before 6)?",
            "(why is it so hard|why do I struggle|how can I make it easier) to (wake up|get up|stop hitting snooze) (in the morning|in winter|with an alarm|)?",
            "(I can't sleep|I keep waking up at night|I'm always tired in the morning), (why|why is that|what can I do|any tips|what should I do)?",
            "how many hours of sleep (does a (teenager|toddler|baby|grown-up)|does an adult|do older people) need?",
            # look like greetings and thanks
            "(why do|how do) (Japanese people|people in France|Italians|Russians|Indians) (greet each other|say hello|say goodbye|kiss when they meet)?",
            "(what's|what is) (the|a) (polite|proper|formal|correct) way to ((say hello|say goodbye|say thank you) (in a business email|to my boss|to an older person|in a letter)|greet (someone in a business email|my boss|an older person))?",
            "(how do I|help me|can you help me) write a (thank-you|thank you) (note|card|email|letter) (to|for) (my teacher|my grandma|a colleague|the nurses|my host family)",
            "(write|compose|come up with) a (funny|short|cute|sweet|warm) (good morning|good night|welcome home) (message|text|poem|note) for (my girlfriend|my wife|my husband|my team|my kids|my mom)",
            "how do you say (\"turn off the lights\"|\"what time is it\"|\"good night\"|\"set an alarm\"|\"see you tomorrow\") in {language}?",
            # look like system status
            "(what's|what is) a (normal|safe|good) (CPU temperature|battery health|idle CPU load|amount of free RAM) for (a laptop|a Raspberry Pi|a gaming PC|a phone)?",
            "how much (RAM|memory|storage) (do I need|should I get) for (a gaming PC|a new laptop|video editing|programming|my phone)?",
            "(what|which) (Raspberry Pi|single-board computer|mini PC) should I (buy|get) for (a smart home|a media server|a voice assistant|retro gaming)?",
            # look like timers, lights, music, shopping, reminders
            "how many minutes (should I|do I need to|does it take to) {y_cook}?",
            "((what's|what is|explain) the pomodoro (technique|method)|how does the pomodoro (technique|method) work|is the pomodoro technique (worth it|actually useful))?",
            "(what|which) (colour|color) (of light|light|bulb) is (best|better) for (sleep|reading|plants|working|the bedroom)?",
            "how many (lumens|watts|lamps|bulbs) do I need for (a bedroom|a living room|a kitchen|a home office)?",
            "(are (smart bulbs|smart plugs|smart speakers|voice assistants|smart thermostats)|is a smart speaker|is a smart thermostat) (worth it|worth the money|safe|bad for privacy)?",
            "(who|which band) (sang|wrote|performed|recorded) {y_song}?",
            "(what|which) (music|kind of music|genre) is (good|best) for (studying|sleeping|running|focus|a dinner party)?",
            "(is it|can it be) (bad|dangerous|harmful) (for my ears|) to listen to music (too loud|at full volume|with headphones all day)?",
            "what (should I|do I need to) buy for (my first apartment|a new puppy|a camping trip|a new baby|a barbecue for ten)?",
            "(how can I|how do I|any tips to) (improve|train|boost) my (memory|concentration|ability to remember names)?",
            "(how do I|what's the best way to) (stop|keep from) forgetting (things|appointments|birthdays|to take my pills)?",
            # users: elderly, children, non-native, chat, speech
            "(I'm|I am) (not very good with|new to|hopeless with) (computers|technology|smartphones), (could you|can you) explain (what an email is|how the internet works|what a password is|how a video call works|what the cloud is)?",
            "(robot|TARS|mister robot|hey robot), {y_kid_q}?",
            "(please|) explain me (what is|how works) {concept}",
            "(how I can|how to|how must I) {howto}? (please help|give me steps|explain me|)",
            "(wats|whats|what's) (the|da) diff (between|btw|b/w) {pair}",
            "(can u|cn u|could u) (write|make) (me|) a {text_kind} (abt|about) {subject} (pls|plz|)",
            "{y_hey} (tell me|explain) why {why_q}",
            "I'm (writing|making|working on) (an essay|a presentation|a report|my homework) (about|on) {concept}, (can you|could you) (help me|give me some ideas|explain the basics)?",
        ],
    },
    "ru": {
        "greeting": [
            # пожилые
            "(здравствуйте|здравствуй), {y_ru_dear}, (как ты там|как поживаешь|как здоровье|как ты)?",
            "(ой|ах|ну), (спасибо|спасибо тебе) (большое|огромное|), {y_ru_dear}, (дай бог тебе здоровья|уважил старуху|уважил старика|выручил бабушку)",
            "(это (бабушка|баба Валя|баба Нина) (тут|пришла|)|это (дедушка|дед Коля) (тут|пришёл|)), (здравствуй|привет|здравствуйте)",
            "(вот|ну вот) (спасибо|спасибо тебе), (уважил|помог|выручил), (дай бог здоровья|дай тебе бог здоровья)",
            "(позвольте|разрешите) (поприветствовать вас|вас поблагодарить|выразить вам благодарность)(, уважаемый ТАРС|, ТАРС|)",
            # дети
            "(привет|приветик|привет-привет), (робот|роботик|ТАРС), (меня зовут|я) {y_ru_kid_name}(, мне {y_ru_kid_age}|)",
            "(робот|роботик), (ты меня помнишь|ты меня узнал|ты проснулся|ты мой друг)?",
            # не носители языка
            "(привет|здравствуй|добрый день), (как ты делаешь|как у тебя идёт|как идёт твой день|что есть нового)?",
            "(очень спасибо|спасибо много|много спасибо), ты (очень полезный|хороший помощник|очень помогаешь)",
            # чат, транслит
            "(прив|привки|хай|ку|кукусики|здаров) (как ты|кд|чд|как оно|как жизнь|чё как)?",
            "(спс|пасиб|спасибки|сяп|пасибо|сенкс|сенк ю) (бро|братан|дружище|тарс|), (ты топ|ты лучший|ты супер|огонь|имба|красава)",
            "(хеллоу|хелло|хэллоу|хай-хай) (май френд|бро|тарс), (как сам|вотсап|как жизнь)",
            # распознавание речи
            "{y_ru_hey} (привет|доброе утро|добрый вечер) как (у тебя|) дела",
            # коротко
            "(здрасьте|драсьте|здрасть|приветули|хаюхай|здоровеньки булы|салютик|приветище)",
            # утверждения, настроения, двойные
            "(я|) (хотел|хотела|просто хотел|просто хотела) (поздороваться|сказать тебе привет|пожелать тебе доброго утра)",
            "(ура|юху|ееее), (привет|приветик), (ТАРС|Тарсик), (как же я рад тебя слышать|как же я рада тебя слышать|у меня сегодня отличный день)",
            "(ну|эх|м-да), (утро|утро доброе|доброе утро), (если оно доброе|хотя какое оно доброе|ага)",
            "привет, как дела? (у меня|) всё (хорошо|норм|отлично|путём), (а у тебя|а ты как)?",
            "(какой ты|ты такой) (умный|молодец|умница|быстрый|сообразительный), (спасибо|спасибо тебе|благодарю)",
            "привет (ещё раз|снова), (это опять я|это снова я|я опять тут)",
            "(с днём рождения|с Днём Победы|с Масленицей|с пятницей|с праздничком|с первым снегом), (ТАРС|Тарсик|дружище|)",
            "(утро доброе|доброго утречка|утречко доброе|с добрым утречком), (соня|соня-засоня|Тарсик|дружочек)",
            "(о|ого|опа), (кого я вижу|кто тут у нас|какие люди)",
            "(спасибо|спс|благодарю), что (помог с уроками|напомнил про таблетки|включил музыку|поставил таймер|разбудил вовремя)",
            "(ну|) (здорово|здравствуй), (железный друг|электронный друг|мой помощник|друг мой)",
            "(как же|ой, как) (я|) (рад|рада) (тебя слышать|с тобой поболтать|снова тебя слышать)",
            "(ты просто космос|ты бомба|ты огонь|ты чудо техники), (спасибо|спасибочки|спс)",
            "(добрый вечер|доброе утро|добрый день), я (вернулся|вернулась|дома|пришёл|пришла), (как ты тут|как ты без меня)?",
        ],
        "farewell": [
            # пожилые
            "(ну|ладно), (не буду тебя задерживать|не буду больше отвлекать|пойду я), (до свидания|всего доброго|будь здоров)(, {y_ru_dear}|)",
            "(пойду|пойду-ка) (я|) (прилягу|вздремну|отдохну|полежу), (до свидания|до встречи|спасибо тебе)(, {y_ru_dear}|)",
            "(всего вам доброго|честь имею|разрешите откланяться|позвольте попрощаться)(, ТАРС|)",
            # дети
            "(пока|пока-пока|бай-бай), (робот|роботик|ТАРС), (мне пора спать|мама зовёт спать|мама говорит, что пора спать|мне надо в садик|мне надо в школу|пора чистить зубы)",
            "(спокойной ночи|споки-ноки|спокойки), (роботик|робот|ТАРС), (до завтра|я тебя люблю|приятных снов)",
            # не носители языка
            "(хорошо|окей), я (иду|пошёл|пошла) (спать|домой|работать), (до свидания|пока)",
            "(спасибо за всё|спасибо за помощь), (хорошего вечера|хороший вечер тебе|до свидания|хорошего дня)",
            "(увидимся|видимся) (позже|потом|скоро), (мой друг|друг|бро)",
            # чат, транслит
            "(всё|ок|окей|лан|ладн|ну ок), (я|) (ушёл|ушла|погнал|погнала|сплю|спать) (пока|покеда|бб|споки|всем пис)",
            "(спс|пасиб|спасибки) (за всё|), (пока|бб|покеда|до завтра|споки)",
            "(гн|гуднайт|гуд найт|спок ночи|споки-ноки|сладких)",
            "(бай|байбай|гудбай|си ю|си ю лейтер|сиюшки) (тарс|бро|)",
            # распознавание речи
            "{y_ru_hey} (на сегодня всё|это всё|больше ничего не надо) (спасибо|) (пока|до завтра|спокойной ночи)",
            "ну всё я (пошёл|пошла) на работу (буду|вернусь) (вечером|к шести|поздно) (пока|давай)",
            # коротко
            "(ну пока|ладно пока|всё пока|давай пока|ок пока|пока тогда|всё, давай|пока-пока-пока)",
            # утверждения, настроения, ситуации
            "(я|) (хочу|хотел|хотела) (попрощаться|сказать тебе пока|пожелать тебе спокойной ночи)",
            "(всё|фух|уф), (я|) (больше не могу|выдохся|выдохлась|никакой|никакая), (иду спать|пошёл спать|пошла спать|спать), (спокойной|пока|до завтра)",
            "(мы (уезжаем|улетаем)|я (уезжаю|улетаю)) (на море|в отпуск|на дачу|в командировку|к бабушке) (на неделю|на две недели|до воскресенья|до понедельника), (пока|до встречи|не скучай)",
            "(всё|ну всё), (такси (уже|) (приехало|ждёт|подъехало)|машина (уже|) (приехала|ждёт|подъехала)|автобус (уже|) (подходит|пришёл)), (бегу|побежал|побежала), (пока|давай)",
            "(поговорим|пообщаемся|поболтаем) (ещё|) (завтра|потом|в другой раз), а (сейчас мне пора|сейчас я спать|пока мне пора|пока всё)",
            "(всё|ладно), (я|) (спать|отдыхать|баиньки), (и ты|ты тоже) (отдыхай|поспи|не скучай)",
            "(ладно|ну всё|ок), (не скучай|не грусти) (тут|без меня|), (я|) (скоро вернусь|буду вечером|вернусь к ужину)",
            "(пока|до свидания), (спасибо за всё|хорошего вечера), (увидимся завтра|до завтра)",
            "(спокойной ночи|доброй ночи), (до утра|до завтра|сладких снов), (я спать|я пошёл|я пошла|я ложусь)",
            "(я|) (ухожу на работу|выхожу из дома|ухожу в магазин|отключаюсь на ночь), (до вечера|пока|бывай)",
            "(эх|ох), (пора мне|надо идти|пора и на работу), (до вечера|пока-пока)",
            "(мне|нам) (уже|) (пора|пора бежать), (созвонимся|спишемся|увидимся) (позже|вечером|завтра)",
            "(ну|ладно|ок), до (скорого|встречи|вечера), (береги себя|не перегревайся|не зависай)",
        ],
        "status": [
            # коротко
            "{y_ru_metric_short} (как|как там|у тебя как|)?",
            "(сколько|скока|скок) (свободной памяти|заряда|места на диске|оперативки|свободной оперативы) (осталось|есть|)?",
            "(чё|че|чо) по (процу|оперативке|темпе|диску|ресурсам|железу)?",
            # пожилые
            "{y_ru_dear}, (ты там не перегрелся|батарейка у тебя не садится|памяти-то тебе хватает|ты не греешься)?",
            "(внук сказал|внучка сказала|сын сказал|дочка сказала) (проверить|спросить|посмотреть), (сколько у тебя памяти|какая у тебя температура|сколько у тебя места на диске|не перегреваешься ли ты)",
            "(а|) у тебя (вентилятор|моторчик|вентилятор внутри) (что-то|) (не|) (шумит|гудит)? (ты|) (не перегрелся|не греешься)?",
            # дети
            "(робот|роботик), (у тебя голова не горячая|тебе не жарко внутри|у тебя батарейка ещё есть|сколько у тебя батарейки)?",
            # не носители языка
            "(скажи|скажи мне), (сколько памяти ты имеешь|сколько места ты имеешь на диске|какую температуру ты имеешь|какую загрузку ты имеешь) (сейчас|)?",
            # транслит, техслова
            "(чекни|глянь|проверь|зачекай) (свой (проц|диск|аптайм)|свою (оперативу|темпу|память|батарею)|CPU|цпу|рам)",
            "ты (что-то|) (лагаешь|фризишь|подлагиваешь|глючишь) (сегодня|), (проц загружен|оперативка забита|память забита|диск забит)?",
            "какой у тебя (сейчас|) пинг (до роутера|до гугла|)?",
            "ты (видишь|ловишь) (вайфай|вай-фай|сеть|интернет) (нормально|вообще|сейчас)?",
            "(когда|как давно) ты (последний раз|) (ребутался|ребутнулся|перезапускался)?",
            "(сколько (оперативки|памяти|проца|CPU) ты (юзаешь|используешь|жрёшь)|ты (юзаешь|используешь|жрёшь) много (оперативки|памяти|проца|CPU))?",
            "(какой|) (лоад|load average|лоад авередж|лоад эверейдж) (у тебя|) (сейчас|)?",
            "(ошибки|ворнинги|варнинги|предупреждения) в (логах|системном журнале|журнале) (есть|были)?",
            # распознавание речи
            "{y_ru_hey} (какая у тебя (температура процессора|загрузка процессора|загрузка памяти)|сколько у тебя (свободной памяти|места на диске|заряда)) (сейчас|)",
            # утверждения, встроенные, двойные, настроения
            "((мне|) (нужно|надо)|хочу) (знать|узнать|посмотреть) {metric_acc}",
            "(перед тем как|прежде чем) (запускать обновление|ставить бэкап|качать фильм|запускать тяжёлую задачу), (скажи|проверь), (сколько места (осталось|свободно) на диске|сколько свободной памяти|не перегружен ли процессор)",
            "какая у тебя температура (процессора|) и (сколько свободной памяти|сколько места на диске|какой заряд)?",
            "(ты чего|ты что|чё) так (тормозишь|тупишь|долго думаешь)? (проверь|глянь|посмотри) (свою загрузку|загрузку проца|свою память|свою температуру)",
            "(доложи|отчитайся) (о состоянии|по системе|по ресурсам), (боец|солдат|робот|ТАРС)",
            "(сколько (процессов|сервисов|программ) у тебя (крутится|запущено|висит)|какие (процессы|сервисы|программы) у тебя (крутятся|запущены|висят)) (сейчас|в фоне|)?",
            "(сколько|много ли) (гигов|гигабайт|мегабайт|метров) (свободно|осталось|занято) (на диске|на флешке|на карте|в оперативке)?",
            "(питание|напряжение) (в норме|нормальное|не проседает)?",
            "(температура|темпа) (на проце|проца|процессора) (в норме|нормальная|не зашкаливает)?",
            "на сколько процентов (загружен|занят) (проц|процессор|диск)?",
            "ты (в порядке|в норме) (по железу|по системе|технически)?",
        ],
        "time": [
            # коротко
            "(время|времени|число|дата|день недели|который час|сколько время) (плз|пж|скажи|)?",
            "(скок|ск|скока) (времени|время) (щас|ща)?",
            # пожилые
            "{y_ru_dear}, (подскажи|скажи) (бабушке|старику|деду|мне), (который час|сколько времени|какое сегодня число|какой сегодня день)",
            "(я|) совсем (запуталась|запутался) в (днях|числах), (какой (сегодня|) день|какое (сегодня|) число)?",
            "без очков (не вижу|не разгляжу) (часы|циферблат), (сколько (там|) времени|который час)?",
            # дети
            "(робот|роботик), (уже утро|уже можно вставать|уже пора в садик)? (сколько времени|который час)?",
            "(робот|роботик), (а|) сегодня (выходной|садик|школа|суббота)?",
            # не носители языка
            "(какое сейчас время|какой сейчас час|какое время сейчас)?",
            "сколько часов (сейчас|теперь)?",
            "(скажи|скажите) мне (время|дату) (сегодня|сейчас|пожалуйста)",
            "(которое сегодня число|который сегодня день)?",
            # чат
            "(какое число|шо за число|чё за число|какой день|шо за день) (седня|сёдня|щас)?",
            "(сегодня|сёдня|седня) (уже|) (пятница|выходной|суббота) (или нет|наконец|)?",
            "(посмотри|глянь|чекни) (время|дату|который час|какое число)",
            # распознавание речи
            "{y_ru_hey} (сколько сейчас времени|какое сегодня число|какой сегодня день недели)",
            "слушай (тарс|) а (сколько сейчас времени|который час) а то (я опаздываю|я без часов|телефон сел|часы встали)",
            # утверждения, встроенные, двойные, настроения
            "(я|) (хочу|хотел бы|хотела бы) (знать|узнать) (который час|сколько времени|какое сегодня число|какой сегодня день)",
            "(я|) (не знаю|без понятия|понятия не имею), (сколько сейчас времени|который час|какое сегодня число)",
            "у меня (поезд|автобус|встреча|созвон|сериал) в {y_ru_hour}, (сколько (сейчас|) времени|который (сейчас|) час)?",
            "(какое сегодня число|какая сегодня дата) и (какой день недели|сколько времени)?",
            "(блин|ёлки|капец|ой-ой), (уже|неужели уже) (восемь|девять|десять|полночь|обед)? (сколько (точно|) времени|который час)?",
            "(сейчас|у нас) (две тысячи двадцать пятый|двадцать пятый) год или (уже|) (двадцать шестой|две тысячи двадцать шестой)?",
            "(скажи|подскажи) (время|дату) (по-быстрому|быстренько|в двух словах)",
            "(часы (встали|отстают|сели)|телефон сел|мобильник разрядился), (сколько (сейчас|) (точно|) времени|который (сейчас|) час)?",
            "(я|) (проснулся|проснулась) и не (понимаю|пойму), (утро сейчас или вечер|сколько времени|какой сегодня день)",
            "(завтра|послезавтра) (какое число|какой день недели)?",
        ],
        "quick_action": [
            # коротко
            "(таймер {y_ru_short_dur}|будильник на {y_ru_clock}|будильник {y_ru_clock})",
            "((свет|лампу|ночник) (выкл|вкл|включи|выключи|погаси|)|(телик|музыку|звук) (выкл|вкл|включи|выключи|вруби)|свет (пж|плз))",
            "(погромче|потише|громче|тише|пауза|стоп|некст|дальше)(, плиз| пж| плз|!)",
            # пожилые
            "{y_ru_dear}, (включи|выключи) (мне|) (телевизор|радио|свет|ночник)(, пожалуйста|, будь добр|, будь любезен|)",
            "({y_ru_dear}|), напомни (мне|бабушке|деду) {when} (выпить таблетки|принять лекарство|померить давление|позвонить внучке|позвонить дочке|полить рассаду)",
            "(сделай|сделай-ка) (телевизор|радио|звук) погромче, а то (ничего не слышу|глуховата я стала|глуховат я стал)",
            "(запиши мне|добавь) в список покупок {y_ru_shop}",
            # дети
            "(робот|роботик|ТАРС), (включи|поставь) (песенку|песню) (про (динозавров|мамонтёнка|Чебурашку|крокодила Гену)|из мультика)",
            "(мама разрешила|папа разрешил) (ещё|) (десять|пятнадцать|пять) минут (мультиков|поиграть|на планшете), (поставь|засеки) таймер",
            # не носители языка
            "(поставь|сделай|включи) таймер {dur}",
            "(открой|закрой) свет {room_loc}",
            "(ты|) (напомнишь|напоминай) мне {task} {when}(, ладно|, хорошо|)",
            # чат, транслит
            "(врубай|вруби|вкл|вклю) (музло|музон|трек|плейлист|радио|музыку) (плз|пж|)",
            "(скипни|скипай|некстани|пропусти) (трек|песню|это|эту)",
            "(закинь|добавь|кинь) {goods} в (список|покупки|шопинг-лист) (плз|пж|спс|)",
            # распознавание речи
            "{y_ru_hey} поставь будильник {time_na} и выключи свет",
            "{y_ru_hey} (включи|выключи) свет {room_loc} (пожалуйста|спасибо|)",
            # утверждения, встроенные, двойные, настроения
            "(мне нужен таймер на {dur}|мне нужен будильник {time_na}|мне нужно напоминание {when}: {task}|мне нужен свет {room_loc})",
            "(хочу|хотелось бы|я бы хотел|я бы хотела) послушать {music}",
            "(я пошёл|я пошла|иду) в душ, (включи|поставь) {music} (погромче|)",
            "(я|) (прилягу|подремлю|вздремну) (ненадолго|часок|), разбуди (меня|) через {dur}",
            "(выключи|погаси) свет и (включи|поставь) (ночник|белый шум|колыбельную)",
            "(да выключи ты|выключи уже|хватит орать, выключи) (этот|) (будильник|таймер)",
            "(запиши себе|зафиксируй|занеси в память|запомни-ка), что {fact}",
            "(открой|закрой|опусти|подними) (шторы|жалюзи|рольставни)",
            "(поставь|сделай) (температуру|отопление|кондиционер|кондей) на {y_ru_deg}",
            "((поставь|включи) что-нибудь из (девяностых|восьмидесятых|нулевых|советских фильмов)|(поставь|включи) песни (девяностых|восьмидесятых|из советских фильмов))",
            "(убавь|прибавь) (звук|громкость) на (пару делений|пару пунктов|одно деление|пару единиц)",
            "(отмени|сбрось|удали) (будильник|напоминалку) на (завтра|утро|субботу|выходные)",
            "(ой|блин|ёлки), ((макароны|пельмени|яйца) уже варятся|картошка уже варится|(суп|рис) уже варится), (засеки|поставь таймер на) {dur}",
        ],
        "complex": [
            # похоже на время
            "во сколько (лучше|нужно|стоит) (ложиться спать|вставать|ужинать) (школьнику|подростку|ребёнку пяти лет|взрослому)?",
            "(зачем|почему) (переводят часы|нужны часовые пояса|нужен високосный год|в году двенадцать месяцев)?",
            "почему (так|) (тяжело|трудно) (вставать по будильнику|просыпаться зимой|вставать рано)(, и что с этим делать|)?",
            "(сколько|как долго) (нужно|надо) спать (подростку|взрослому|пожилому человеку|младенцу)?",
            "(мне не спится|не могу уснуть уже неделю|я плохо сплю|мне уже неделю не спится), (что делать|что посоветуешь|как наладить сон)?",
            # похоже на приветствия и благодарности
            "(как|а как) (принято|правильно|вежливо) (здороваться|прощаться|благодарить) (в Японии|в Индии|в деловой переписке|с пожилыми людьми|на собеседовании)?",
            "(напиши|придумай|сочини) (пожелание (доброго утра|спокойной ночи)|сообщение с пожеланием (доброго утра|спокойной ночи)|стишок (с добрым утром|на ночь)) для (девушки|жены|мамы|любимого|коллег)",
            "(как|помоги) (написать|составить) (благодарственное письмо|благодарность|отзыв с благодарностью) (учителю|врачу|воспитателю|коллегам)",
            "(как|что) ответить на «(спасибо|как дела|привет, как ты)» (вежливо|оригинально|с юмором)?",
            "(переведи|как перевести) на английский «(доброе утро|спокойной ночи|который час|до свидания|выключи свет|поставь будильник)»",
            "как (правильно|) сказать по-русски «{y_ru_en_phrase}»?",
            # похоже на состояние системы
            "какая температура процессора считается нормальной для (ноутбука|Raspberry Pi|игрового компьютера|телефона)?",
            "сколько (оперативки|оперативной памяти|памяти) (нужно|надо|хватит) для (игр|монтажа видео|программирования|учёбы|работы в фотошопе)?",
            "(как|помоги) (собрать|настроить|сделать) (умный дом|голосового помощника|медиасервер) на (Raspberry Pi|малинке|ардуино)?",
            "(посоветуй|подскажи), (как|чем) (охладить|разогнать|ускорить) (Raspberry Pi|малинку|старый ноут|комп)",
            # похоже на таймеры, свет, музыку, покупки, напоминания
            "сколько (минут|времени) {y_ru_cook}?",
            "((что такое|как работает) (метод помидора|техника помодоро|таймбоксинг|тайм-менеджмент)|в чём смысл (метода помидора|техники помодоро|таймбоксинга|тайм-менеджмента))?",
            "(какой свет|какая лампа|какая цветовая температура) (лучше|полезнее) для (сна|чтения|рассады|глаз|работы)?",
            "(можно ли|стоит ли|безопасно ли) (оставлять (свет|ночник|обогреватель|телевизор) включённым|оставлять гирлянду включённой|оставлять зарядку в розетке) на (всю ночь|ночь)?",
            "(кто (поёт|написал|исполняет)|какая группа (поёт|исполняет)) {y_ru_song}?",
            "(вредно ли|опасно ли) (слушать музыку (громко|на полной громкости|в наушниках весь день)|сидеть в наушниках весь день)?",
            "(что|какие продукты) (купить|нужно купить|взять) (на шашлыки|на пикник|на новогодний стол|для котёнка на первое время)?",
            "(как|что делать, чтобы) (улучшить|натренировать|прокачать) память (взрослому|пожилому человеку|ребёнку|)?",
            "(почему|отчего) я (постоянно|всё время|вечно) (всё забываю|забываю имена|теряю ключи)?",
            # пожилые, дети, не носители, чат, речь
            "({y_ru_dear}|), (объясни|растолкуй) (мне, старому|мне, старой|бабушке|деду|мне), (что такое (интернет|вотсап|электронная почта|видеозвонок|облако)|как (пользоваться|работать с) (госуслугами|вотсапом|электронной почтой))",
            "(робот|роботик), {y_ru_kid_q}?",
            "(объясни мне|расскажи мне), что (есть|это такое) {concept}",
            "(шо|чё|что) (такое|за) (вайб-кодинг|промпт|нейронка|докер|кубер|бэкенд|фронтенд|флекс) (вообще|простыми словами|)?",
            "(напиши|накидай|сгенери|сгенерируй) (мне|) (пост|текст|подпись) (для инсты|для телеги|в телеграм|для вк) (про осень|про кофе|про наш отпуск|про котика|о путешествиях|о спорте)",
            "{y_ru_hey} (расскажи|объясни) почему {why_q}",
            "я (пишу|делаю|готовлю) (доклад|реферат|презентацию|курсовую) про {y_ru_topic_acc}, (помоги|подскажи, с чего начать|накидай идей|объясни основы)",
        ],
    },
}
